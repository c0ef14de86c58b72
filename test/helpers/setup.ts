import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { fakeServer } from "./fake-provider";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

fakeServer.listen({ onUnhandledRequest: "error" });

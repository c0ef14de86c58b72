import { applyD1Migrations, reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll } from "vitest";
import { fakeServer, forgetFakePlatforms } from "./fake-provider";

// Pool workers are reused across files (isolate: false): each file starts from empty D1 and KV.
await reset();
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

fakeServer.listen({ onUnhandledRequest: "error" });
afterAll(() => {
  fakeServer.close();
  forgetFakePlatforms();
});

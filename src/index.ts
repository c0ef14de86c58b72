import { createApp } from "./app";
import { runScheduled } from "./jobs";
import { consumeWork } from "./jobs/consume";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, controller.scheduledTime));
  },
  async queue(batch, env) {
    await consumeWork(batch, env);
  },
} satisfies ExportedHandler<Env>;

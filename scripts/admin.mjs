// `npm run admin -- <command>`: a small CLI over the admin API (/v1/admin/*).
import { parseArgs } from "node:util";
import { allScopes, callApi, describeError } from "./lib/api.mjs";
import { DEFAULT_URL, isLocalUrl, readDevVars } from "./lib/env.mjs";

const USAGE = `Usage: npm run admin -- <command> [arguments] [--url URL]

Workspaces
  workspace:create --name NAME [--plan free|pro|enterprise] [--account-limit N|none]
                   [--platforms a,b|all] [--callback-domains a,b] [--sandbox] [--owner-email EMAIL]
  workspace:get WORKSPACE_ID
  workspace:update WORKSPACE_ID [--name NAME] [--plan PLAN] [--account-limit N|none]
                   [--platforms a,b|all] [--callback-domains a,b]

API keys
  key:create WORKSPACE_ID --name NAME --scopes a,b|all [--user USER_ID] [--expires ISO_TIME]
  key:list WORKSPACE_ID
  key:revoke KEY_ID

Options
  --url URL    API base URL (default: $SWITCHBOARD_URL, else ${DEFAULT_URL})
  -h, --help   this help

--account-limit none uses the plan's limit (free 5, pro 50, enterprise unlimited); --platforms all
allows every platform. Sandbox mode is fixed when a workspace is created (it gets swb_test_ keys).
Scopes: accounts:read, accounts:write, webhooks:read, webhooks:write, read:posts, analytics:read.

The admin token comes from $ADMIN_TOKEN or, for a local URL, from ADMIN_TOKEN in .dev.vars.
Prints the JSON answer; on an error prints CODE: message to stderr and exits 1 (2 for bad usage).`;

const OPTIONS = {
  url: { type: "string" },
  help: { type: "boolean", short: "h" },
  name: { type: "string" },
  plan: { type: "string" },
  "account-limit": { type: "string" },
  platforms: { type: "string" },
  "callback-domains": { type: "string" },
  sandbox: { type: "boolean" },
  "owner-email": { type: "string" },
  scopes: { type: "string" },
  user: { type: "string" },
  expires: { type: "string" },
};

class UsageError extends Error {}

const list = (value) =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

function accountLimit(value) {
  if (["none", "null", "plan"].includes(value)) return null;
  if (!/^\d+$/.test(value)) throw new UsageError("--account-limit must be a whole number or none");
  return Number(value);
}

/** The workspace fields a create or update sends, from the flags given. */
function workspaceBody(values) {
  const body = {};
  if (values.name !== undefined) body.name = values.name;
  if (values.plan !== undefined) body.plan = values.plan;
  if (values["account-limit"] !== undefined) body.accountLimit = accountLimit(values["account-limit"]);
  if (values.platforms !== undefined) {
    body.allowedPlatforms = values.platforms.trim() === "all" ? null : list(values.platforms);
  }
  if (values["callback-domains"] !== undefined) {
    body.allowedCallbackDomains = list(values["callback-domains"]);
  }
  return body;
}

const id = (value) => encodeURIComponent(value);

/** Each command: its positional arguments, the flags it takes, and the request it makes. */
const COMMANDS = {
  "workspace:create": {
    args: [],
    flags: ["name", "plan", "account-limit", "platforms", "callback-domains", "sandbox", "owner-email"],
    required: ["name"],
    request: (_, values) => ({
      method: "POST",
      path: "/v1/admin/workspaces",
      body: {
        ...workspaceBody(values),
        ...(values.sandbox ? { sandbox: true } : {}),
        ...(values["owner-email"] ? { ownerEmail: values["owner-email"] } : {}),
      },
    }),
  },
  "workspace:get": {
    args: ["WORKSPACE_ID"],
    flags: [],
    request: ([workspaceId]) => ({ method: "GET", path: `/v1/admin/workspaces/${id(workspaceId)}` }),
  },
  "workspace:update": {
    args: ["WORKSPACE_ID"],
    flags: ["name", "plan", "account-limit", "platforms", "callback-domains"],
    request: ([workspaceId], values) => {
      const body = workspaceBody(values);
      if (Object.keys(body).length === 0) throw new UsageError("workspace:update needs at least one flag");
      return { method: "PATCH", path: `/v1/admin/workspaces/${id(workspaceId)}`, body };
    },
  },
  "key:create": {
    args: ["WORKSPACE_ID"],
    flags: ["name", "scopes", "user", "expires"],
    required: ["name", "scopes"],
    request: async ([workspaceId], values, baseUrl) => ({
      method: "POST",
      path: `/v1/admin/workspaces/${id(workspaceId)}/keys`,
      body: {
        name: values.name,
        scopes: values.scopes.trim() === "all" ? await allScopes(baseUrl) : list(values.scopes),
        ...(values.user ? { userId: values.user } : {}),
        ...(values.expires ? { expiresAt: values.expires } : {}),
      },
    }),
  },
  "key:list": {
    args: ["WORKSPACE_ID"],
    flags: [],
    request: ([workspaceId]) => ({ method: "GET", path: `/v1/admin/workspaces/${id(workspaceId)}/keys` }),
  },
  "key:revoke": {
    args: ["KEY_ID"],
    flags: [],
    request: ([keyId]) => ({ method: "DELETE", path: `/v1/admin/keys/${id(keyId)}` }),
  },
};

function adminToken(baseUrl) {
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
  if (isLocalUrl(baseUrl)) {
    const token = readDevVars()?.ADMIN_TOKEN;
    if (token) return token;
    throw new UsageError("Set ADMIN_TOKEN, or ADMIN_TOKEN in .dev.vars for a local server");
  }
  throw new UsageError(`Set ADMIN_TOKEN to the admin token of ${baseUrl}`);
}

async function main() {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(err.message);
  }
  const { values, positionals } = parsed;
  const [name, ...args] = positionals;
  if (values.help || !name || name === "help") {
    console.log(USAGE);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`Unknown command ${name}`);
  if (args.length !== command.args.length) {
    throw new UsageError(`${name} takes ${command.args.join(" ") || "no arguments"}`);
  }
  for (const flag of Object.keys(values)) {
    if (flag !== "url" && !command.flags.includes(flag)) {
      throw new UsageError(`${name} does not take --${flag}`);
    }
  }
  for (const flag of command.required ?? []) {
    if (values[flag] === undefined) throw new UsageError(`${name} needs --${flag}`);
  }

  const baseUrl = values.url ?? process.env.SWITCHBOARD_URL ?? DEFAULT_URL;
  try {
    new URL(baseUrl);
  } catch {
    throw new UsageError(`--url must be an absolute URL, got ${baseUrl}`);
  }
  const token = adminToken(baseUrl);
  const request = await command.request(args, values, baseUrl);
  const response = await callApi(baseUrl, { ...request, token });
  if (!response.ok) {
    console.error(describeError(response));
    return 1;
  }
  console.log(typeof response.body === "string" ? response.body : JSON.stringify(response.body, null, 2));
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (err instanceof UsageError) {
      console.error(`${err.message}\nRun npm run admin -- --help for usage.`);
      process.exitCode = 2;
    } else {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    }
  },
);

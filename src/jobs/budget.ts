/**
 * What one scheduled invocation may spend on subrequests. D1 allows 1,000 queries per Worker
 * invocation on Workers Paid and 50 on Free, where 50 also caps every subrequest (fetches
 * included). Past the cap each further call throws, and a refresh whose new token was fetched but
 * cannot be stored has spent a rotating refresh token for nothing. So the cron counts every D1
 * statement (alone or inside a batch), every KV operation and every outbound fetch it starts, and
 * its jobs take an item only while the item's worst case still fits.
 */
export class SubrequestBudget {
  /** Counted as they happen (the metered DB counts D1, the metered KV its operations; jobs count their fetches). */
  spent = 0;
  /** Held for work under way: each item's worst case, until it ends. */
  private reserved = 0;

  constructor(readonly limit: number) {}

  /** What is not spent, holds included (what will be left once the work under way is done, at best). */
  unspent(): number {
    return this.limit - this.spent;
  }

  /** What is neither spent nor held. */
  left(): number {
    return this.limit - this.spent - this.reserved;
  }

  spend(count = 1): void {
    this.spent += count;
  }

  /**
   * Holds an item's worst case if it fits with `keep` still left over (for the jobs that run
   * later in the invocation); answers whether it did. `release` gives the hold back.
   */
  take(worst: number, keep = 0): boolean {
    if (this.left() - keep < worst) return false;
    this.reserved += worst;
    return true;
  }

  release(worst: number): void {
    this.reserved -= worst;
  }
}

const DEFAULT_QUERY_CAP = 1000;

/** The invocation's allowance: the configured D1 query cap less a tenth of headroom. */
export function invocationBudget(env: Env): SubrequestBudget {
  const cap = Number(env.D1_QUERIES_PER_INVOCATION);
  return new SubrequestBudget(Math.floor((Number.isInteger(cap) && cap > 0 ? cap : DEFAULT_QUERY_CAP) * 0.9));
}

const budgets = new WeakMap<Env, SubrequestBudget>();

/**
 * The env a job should use and the budget it spends from: the invocation's, when the scheduled
 * handler metered it, or a fresh one over a newly metered env (a job run on its own).
 */
export function metered(env: Env): { env: Env; budget: SubrequestBudget } {
  const budget = budgets.get(env);
  if (budget) return { env, budget };
  const fresh = invocationBudget(env);
  const wrapped = meteredEnv(env, fresh);
  budgets.set(wrapped, fresh);
  return { env: wrapped, budget: fresh };
}

const EXECUTE = new Set<PropertyKey>(["all", "first", "run", "raw"]);
type Statement = D1PreparedStatement;
type Method = (...args: unknown[]) => unknown;

const KV_OPERATIONS = new Set<PropertyKey>(["get", "getWithMetadata", "put", "delete", "list"]);

/**
 * env with a DB that counts each statement it runs against `budget`: one per statement run on its
 * own, one per statement inside a batch (D1's per-query limits apply to each statement of a batch),
 * and a KV namespace that counts each operation (a subrequest on the Free plan).
 */
function meteredEnv(env: Env, budget: SubrequestBudget): Env {
  const originals = new WeakMap<object, Statement>();
  const statement = (real: Statement): Statement => {
    const proxy = new Proxy(real, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop === "bind") return (...args: unknown[]) => statement(value.apply(target, args));
        if (EXECUTE.has(prop)) {
          return (...args: unknown[]) => {
            budget.spend();
            return value.apply(target, args);
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    originals.set(proxy, real);
    return proxy;
  };
  const database = <D extends D1Database | D1DatabaseSession>(real: D): D =>
    new Proxy(real, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as Method;
        switch (prop) {
          case "prepare":
            return (query: string) => statement(value.call(target, query) as Statement);
          case "batch":
            return (statements: Statement[]) => {
              budget.spend(statements.length);
              return value.call(
                target,
                statements.map((s) => originals.get(s) ?? s),
              );
            };
          case "exec":
            return (query: string) => {
              budget.spend();
              return value.call(target, query);
            };
          case "withSession":
            return (...args: unknown[]) => database(value.apply(target, args) as D1DatabaseSession);
          default:
            return typeof value === "function" ? value.bind(target) : value;
        }
      },
    });
  const kv = new Proxy(env.OAUTH_STATE, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as Method;
      if (typeof value !== "function") return value;
      if (!KV_OPERATIONS.has(prop)) return value.bind(target);
      return (...args: unknown[]) => {
        budget.spend();
        return value.apply(target, args);
      };
    },
  });
  return Object.create(env, {
    DB: { value: database(env.DB), enumerable: true },
    OAUTH_STATE: { value: kv, enumerable: true },
  }) as Env;
}

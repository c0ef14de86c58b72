import { type Schema, Validator } from "@cfworker/json-schema";

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema from the committed document
type Json = any;

interface Documented {
  description: string;
  content?: Record<string, { schema?: Json }>;
}

/**
 * The schema with every object closed (additionalProperties: false where it says nothing), so a
 * field the document does not describe fails like a missing or mistyped one; component refs point
 * into $defs.
 */
function closed(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== "object") return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$ref" && typeof value === "string")
      out.$ref = value.replace("#/components/schemas/", "#/$defs/");
    else if (key === "example" || key === "examples") out[key] = value;
    else if (key === "properties") {
      out.properties = Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, closed(v)]));
    } else out[key] = closed(value);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/**
 * Checks answers against `document` (the served one, or the committed openapi.json): the problem
 * with an answer to `method path` (path as in the document, `/v1/accounts/{id}`) is an undocumented
 * status or content type, or a JSON body its schema refuses; undefined when it matches.
 */
export function responseChecker(document: unknown) {
  const doc = document as Json;
  const defs = closed(doc.components.schemas);
  const validators = new Map<string, Validator>();
  const validatorFor = (key: string, schema: Json) => {
    let validator = validators.get(key);
    if (!validator) {
      validator = new Validator({ ...closed(schema), $defs: defs } as Schema, "2020-12", false);
      validators.set(key, validator);
    }
    return validator;
  };

  return (
    method: string,
    path: string,
    res: { status: number; headers: Headers; json?: unknown; text?: string },
  ): string | undefined => {
    const op = doc.paths[path]?.[method.toLowerCase()];
    if (!op) return `${method} ${path} is not in the document`;
    const documented: Documented | undefined = op.responses[String(res.status)];
    if (!documented) return `status ${res.status} is not documented`;
    const type = (res.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
    if (!documented.content) return type && res.text ? `a ${type} body where none is documented` : undefined;
    const media = documented.content[type];
    if (!media)
      return `content-type ${type || "none"}, documented: ${Object.keys(documented.content).join(", ")}`;
    if (type !== "application/json" || !media.schema) return undefined;
    const result = validatorFor(`${method} ${path} ${res.status}`, media.schema).validate(res.json);
    if (result.valid) return undefined;
    const errors = result.errors
      .filter((e) => !["properties", "$ref", "items", "allOf", "oneOf"].includes(e.keyword))
      .slice(0, 4)
      .map((e) => `${e.instanceLocation}: ${e.error}`);
    return `body does not match the ${res.status} schema: ${errors.join("; ")}`;
  };
}

/**
 * Checks a webhook delivery's body against the document's webhooks section: the problem when its
 * type is not there or the payload's schema refuses it; undefined when it matches.
 */
export function eventChecker(document: unknown) {
  const doc = document as Json;
  const defs = closed(doc.components.schemas);
  const validators = new Map<string, Validator>();
  return (body: unknown): string | undefined => {
    const type = (body as { type?: unknown } | null)?.type;
    const schema = typeof type === "string" ? doc.webhooks?.[type]?.post?.requestBody : undefined;
    if (!schema) return `event type ${String(type)} is not in the document's webhooks`;
    let validator = validators.get(type as string);
    if (!validator) {
      const payload = schema.content["application/json"].schema;
      validator = new Validator({ ...closed(payload), $defs: defs } as Schema, "2020-12", false);
      validators.set(type as string, validator);
    }
    const result = validator.validate(body);
    if (result.valid) return undefined;
    const errors = result.errors
      .filter((e) => !["properties", "$ref", "items", "allOf", "oneOf"].includes(e.keyword))
      .slice(0, 4)
      .map((e) => `${e.instanceLocation}: ${e.error}`);
    return `${String(type)} payload does not match the document: ${errors.join("; ")}`;
  };
}

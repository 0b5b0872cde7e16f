/**
 * pcc's schemas are zod/mini: the same checks and messages as zod's classic
 * API, at a sixth of the code and of the time to build a schema, which every
 * command pays at start-up for the state and the settings. Mini sets no
 * locale by itself; the messages are the English ones classic zod gives.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());

export * from 'zod/mini';

/** Classic zod's `z.preprocess`: `fn` runs on the raw input, then `schema` checks what it returns (a pipe, as in classic). */
export function preprocess<const B extends z.core.$ZodType<unknown, unknown>>(fn: (value: unknown) => unknown, schema: B): z.ZodMiniPipe<z.ZodMiniTransform<unknown, unknown>, B> {
  return z.pipe(z.transform(fn), schema);
}

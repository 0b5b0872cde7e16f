import { UserInputError } from '../core/errors.js';

/**
 * `host.vars` as a playbook sees it: reading a variable nobody set is an error
 * naming it, as handlebars' strict mode is for templates, instead of the text
 * `undefined` landing in a file. `'X' in host.vars` asks without failing, and
 * `Object.keys` lists what is set.
 */
export function strictVars(vars: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  return new Proxy(Object.freeze({ ...vars }), {
    get(target, key, receiver) {
      if (typeof key === 'symbol' || key in target || key === 'toJSON' || key === 'then') return Reflect.get(target, key, receiver);
      throw new UserInputError(
        `host.vars.${key} is not set; set ${key}=... in config/*.env (or pass it to the run), or test with '${key}' in host.vars`,
      );
    },
  });
}

/** One variable of a template: a placeholder of its content, or a key of its defaults. */
export interface TemplateVariable {
  name: string;
  /** No default: Twilio would send the placeholder as it is, so a send must supply it. */
  required: boolean;
  default?: string;
}

/** What is wrong with a send's contentVariables for a template; both empty when nothing is. */
export interface VariablesProblem {
  missing: string[];
  unknown: string[];
}

// `{{1}}`, `{{ 2 }}`, `{{first_name}}`: Twilio's numbered and named placeholders.
const PLACEHOLDER = /\{\{\s*([^{}\s]+)\s*\}\}/g;

/** Numbered variables in their numeric order, then named ones alphabetically. */
function byVariableOrder(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return Number(a) - Number(b);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Every placeholder in any string of any content type: text bodies, media URLs, quick-reply and
 * card titles, call-to-action URLs and phone numbers, carousel cards... Walking every string
 * rather than naming each type's fields keeps types Twilio adds later covered.
 */
export function placeholdersOf(types: unknown): Set<string> {
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (typeof node === 'string') {
      for (const match of node.matchAll(PLACEHOLDER)) found.add(match[1]);
    } else if (Array.isArray(node)) {
      node.forEach(visit);
    } else if (typeof node === 'object' && node !== null) {
      Object.values(node).forEach(visit);
    }
  };
  visit(types);
  return found;
}

/**
 * A template's variables: its placeholders and the keys of its defaults. Twilio fills a variable
 * the send leaves out with its default, so only a variable without one is required.
 */
export function templateVariables(types: unknown, defaults: Record<string, string>): TemplateVariable[] {
  const names = new Set([...placeholdersOf(types), ...Object.keys(defaults)]);
  return [...names].sort(byVariableOrder).map((name) =>
    Object.prototype.hasOwnProperty.call(defaults, name) ? { name, required: false, default: defaults[name] } : { name, required: true },
  );
}

/** Required variables the send does not supply, and variables it supplies that the template does not have. */
export function variablesProblem(variables: readonly TemplateVariable[], supplied: Record<string, unknown> | null | undefined): VariablesProblem {
  const given = Object.keys(supplied ?? {});
  const known = new Set(variables.map((v) => v.name));
  return {
    missing: variables.filter((v) => v.required && !given.includes(v.name)).map((v) => v.name),
    unknown: given.filter((name) => !known.has(name)).sort(byVariableOrder),
  };
}

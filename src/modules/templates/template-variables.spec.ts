import { placeholdersOf, templateVariables, variablesProblem } from './template-variables';

describe('template variables', () => {
  it('finds placeholders in every string of every content type, URLs and nested actions included', () => {
    const types = {
      'twilio/text': { body: 'Hi {{1}}, order {{ 2 }} is {{first_name}}' },
      'twilio/media': { body: 'See {{3}}', media: ['https://example.com/{{4}}.pdf'] },
      'twilio/quick-reply': { body: 'Confirm {{5}}?', actions: [{ title: 'Yes {{6}}', id: 'yes' }] },
      'twilio/call-to-action': { body: 'Track', actions: [{ type: 'URL', title: 'Open', url: 'https://example.com/track/{{7}}' }, { type: 'PHONE_NUMBER', title: 'Call', phone: '{{8}}' }] },
      'twilio/card': { title: '{{9}}', subtitle: 'sub {{10}}', media: ['https://x/{{11}}'], actions: [{ type: 'QUICK_REPLY', title: '{{12}}', id: 'a' }] },
      'whatsapp/card': { body: '{{13}}', footer: '{{14}}', header_text: '{{15}}', actions: [] },
      'whatsapp/authentication': { add_security_recommendation: true, code_expiration_minutes: 5, actions: [{ type: 'COPY_CODE', copy_code_text: 'Copy {{16}}' }] },
      'twilio/carousel': { body: '{{17}}', cards: [{ title: '{{18}}', body: 'x', media: 'https://x/{{19}}', actions: [] }] },
    };
    const expected = [...Array.from({ length: 19 }, (_, i) => String(i + 1)), 'first_name'];
    expect([...placeholdersOf(types)].sort()).toEqual(expected.sort());
  });

  it('ignores what is not a placeholder', () => {
    expect([...placeholdersOf({ 'twilio/text': { body: 'Price {1} or {{}} or {{ two words }} or }}3{{' } })]).toEqual([]);
  });

  it('makes a variable with a default optional and one without required, numbered first in numeric order', () => {
    const types = { 'twilio/text': { body: '{{10}} {{2}} {{name}} {{1}}' } };
    expect(templateVariables(types, { '2': 'x', extra: 'e' })).toEqual([
      { name: '1', required: true },
      { name: '2', required: false, default: 'x' },
      { name: '10', required: true },
      { name: 'extra', required: false, default: 'e' },
      { name: 'name', required: true },
    ]);
  });

  it('names the required variables a send misses and the ones it gives that the template does not have', () => {
    const variables = templateVariables({ 'twilio/text': { body: '{{1}} {{2}} {{3}}' } }, { '2': 'b' });
    expect(variablesProblem(variables, { '1': 'a', '2': 'b', '3': 'c' })).toEqual({ missing: [], unknown: [] });
    expect(variablesProblem(variables, { '1': 'a', '3': 'c' })).toEqual({ missing: [], unknown: [] });
    expect(variablesProblem(variables, { '2': 'b', '4': 'd', x: 'y' })).toEqual({ missing: ['1', '3'], unknown: ['4', 'x'] });
    expect(variablesProblem(variables, undefined)).toEqual({ missing: ['1', '3'], unknown: [] });
    expect(variablesProblem(templateVariables({}, {}), null)).toEqual({ missing: [], unknown: [] });
  });
});

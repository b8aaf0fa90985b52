// ANSI colours, only when the context allows them (NO_COLOR, not a TTY).
const CODES = { red: 31, yellow: 33, green: 32, blue: 34, magenta: 35, gray: 90, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export function paint(text: string, colour: Colour, enabled: boolean): string {
  return enabled ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

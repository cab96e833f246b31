// SPDX-License-Identifier: AGPL-3.0-or-later
// Akvorado's filter language for CodeMirror 6: a stream tokenizer (keywords
// AND OR NOT, comparison and set operators, strings, numbers, IPs, comments),
// its highlighting, completion from filter/complete, and errors from
// filter/validate.
import { StreamLanguage, HighlightStyle, syntaxHighlighting, type StringStream } from "@codemirror/language";
import { tags as t } from "@lezer/highlight";
import type { CompletionContext, CompletionResult, Completion } from "@codemirror/autocomplete";
import type { Diagnostic } from "@codemirror/lint";
import type { EditorView } from "@codemirror/view";
import { api } from "@/lib/api";

interface State { inComment: boolean }

const logic = /^(?:AND|OR|NOT)\b/i;
const wordOperators = /^(?:NOTIN|IN|NOTLIKE|UNLIKE|IUNLIKE|ILIKE|LIKE|NOTILIKE)\b/i;
const symbolOperators = /^(?:!<<|<<|!=|<=|>=|=|<|>)/;
const ipv6 = /^[0-9a-f]*:[0-9a-f:.]*(?:\/\d{1,3})?/i;
const ipv4 = /^\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?/;
const number = /^\d+(?:\.\d+)?(?![\w.:])/;

export const filterLanguage = StreamLanguage.define<State>({
  name: "akvorado-filter",
  startState: () => ({ inComment: false }),
  token(stream: StringStream, state: State): string | null {
    if (state.inComment) {
      if (stream.skipTo("*/")) {
        stream.pos += 2;
        state.inComment = false;
      } else stream.skipToEnd();
      return "blockComment";
    }
    if (stream.eatSpace()) return null;
    if (stream.match("--")) {
      stream.skipToEnd();
      return "lineComment";
    }
    if (stream.match("/*")) {
      state.inComment = true;
      return this.token!(stream, state) ?? "blockComment";
    }
    const ch = stream.peek();
    if (ch === '"' || ch === "'") {
      stream.next();
      let escaped = false;
      let c: string | void;
      while ((c = stream.next()) !== undefined) {
        if (c === ch && !escaped) break;
        escaped = !escaped && c === "\\";
      }
      return "string";
    }
    if (stream.match(logic)) return "keyword";
    if (stream.match(wordOperators) || stream.match(symbolOperators)) return "operator";
    if (stream.match(ipv4) || stream.match(number)) return "number";
    if (stream.match(ipv6)) return "number";
    if (stream.match(/^[A-Za-z_][\w.]*/)) return "variableName";
    if (stream.match(/^[(),]/)) return "punctuation";
    stream.next();
    return "invalid";
  },
  languageData: { commentTokens: { line: "--", block: { open: "/*", close: "*/" } } },
});

export const filterHighlight = syntaxHighlighting(
  HighlightStyle.define([
    { tag: t.keyword, color: "var(--syn-keyword)", fontWeight: "600" },
    { tag: t.operator, color: "var(--syn-operator)" },
    { tag: t.string, color: "var(--syn-string)" },
    { tag: t.number, color: "var(--syn-number)" },
    { tag: t.variableName, color: "var(--syn-column)" },
    { tag: [t.lineComment, t.blockComment], color: "var(--syn-comment)", fontStyle: "italic" },
    { tag: t.invalid, color: "var(--danger)" },
  ]),
);

// ---- completion ----

interface Token { from: number; to: number; text: string; kind: "word" | "op" | "value" | "logic" | "other" }

/** The tokens of the text before the cursor (comments skipped). */
function tokensBefore(text: string): Token[] {
  const out: Token[] = [];
  const re = /\s+|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|!<<|<<|!=|<=|>=|[=<>]|[(),]|[^\s()=<>!,"']+|./g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const s = m[0];
    if (/^\s/.test(s) || s.startsWith("--") || s.startsWith("/*")) continue;
    let kind: Token["kind"] = "other";
    if (/^(AND|OR|NOT)$/i.test(s)) kind = "logic";
    else if (/^(!<<|<<|!=|<=|>=|=|<|>)$/.test(s) || /^(NOTIN|IN|LIKE|ILIKE|UNLIKE|IUNLIKE)$/i.test(s)) kind = "op";
    else if (/^[A-Za-z_][\w]*$/.test(s)) kind = "word";
    else if (/^[(),]$/.test(s)) kind = "other";
    else kind = "value";
    out.push({ from: m.index, to: m.index + s.length, text: s, kind });
  }
  return out;
}

const logicCompletions: Completion[] = ["AND", "OR", "AND NOT", "OR NOT"].map((l) => ({
  label: l, type: "keyword", detail: "logic operator",
}));

async function remote(
  what: "column" | "operator" | "value", extra: { column?: string; operator?: string; prefix?: string },
): Promise<Completion[]> {
  try {
    const { completions } = await api.complete({ what, ...extra, limit: 20 });
    return (completions ?? []).map((c) => ({
      label: c.quoted ? JSON.stringify(c.label) : c.label,
      detail: c.detail,
      type: what === "column" ? "variable" : what === "operator" ? "operator" : "constant",
    }));
  } catch {
    return [];
  }
}

export async function filterCompletion(ctx: CompletionContext): Promise<CompletionResult | null> {
  const before = ctx.state.sliceDoc(0, ctx.pos);
  const tokens = tokensBefore(before);
  // The word being typed (if the cursor touches one) is the prefix.
  let current: Token | undefined = tokens[tokens.length - 1];
  if (current && current.to !== ctx.pos) current = undefined;
  if (!current && !ctx.explicit && !/[\s(=<>]$/.test(before)) return null;
  const previous = tokens.slice(0, current ? -1 : undefined);
  const from = current ? current.from : ctx.pos;
  const prefix = current ? current.text.replace(/^["']/, "") : "";
  const p1 = previous[previous.length - 1];
  const p2 = previous[previous.length - 2];

  let options: Completion[] = [];
  if (p1 && p1.kind === "op" && p2 && p2.kind === "word") {
    options = await remote("value", { column: p2.text, operator: p1.text, prefix });
  } else if (p1 && p1.kind === "word" && (!p2 || p2.kind === "logic" || p2.text === "(")) {
    options = await remote("operator", { column: p1.text });
  } else if (p1 && (p1.kind === "value" || p1.text === ")")) {
    options = logicCompletions;
  } else {
    options = await remote("column", { prefix });
    if (!p1 || p1.kind === "logic" || p1.text === "(") {
      if (p1?.kind === "logic" && !/NOT/i.test(p1.text)) options.push({ label: "NOT", type: "keyword" });
    }
  }
  if (options.length === 0) return null;
  return { from, options, validFor: /^["']?[\w.:/-]*$/ };
}

// ---- errors ----

export async function filterDiagnostics(view: EditorView): Promise<Diagnostic[]> {
  const text = view.state.doc.toString();
  if (text.trim() === "") return [];
  try {
    const result = await api.validate(text);
    if (!result.errors || result.errors.length === 0) return [];
    const length = view.state.doc.length;
    return result.errors.map((e) => {
      const from = Math.min(Math.max(e.offset, 0), length);
      // Underline the word at the error (or the next character).
      const rest = text.slice(from);
      const word = /^[^\s()]+/.exec(rest)?.[0].length ?? 1;
      return { from, to: Math.min(from + Math.max(word, 1), length), severity: "error", message: e.message };
    });
  } catch {
    return [];
  }
}

/** The SQL editor: CodeMirror 6 with line numbers, SQL highlighting, completion from the schema
 * tree and Ctrl/Cmd+Enter to run. Loaded lazily (its own chunk). */
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { PostgreSQL, sql, type SQLNamespace } from "@codemirror/lang-sql";
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { Compartment, EditorSelection, EditorState, Prec, RangeSetBuilder } from "@codemirror/state";
import {
  Decoration,
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
  placeholder as placeholderExt,
} from "@codemirror/view";
import { tags } from "@lezer/highlight";
import { useEffect, useRef } from "react";

import type { SchemaTree } from "./api";
import type { EditorProps } from "./editor-handle";
import { offsetOf } from "./sql-text";

const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: "var(--primary)", fontWeight: "600" },
  { tag: [tags.string, tags.special(tags.string)], color: "var(--success)" },
  { tag: [tags.number, tags.bool, tags.null], color: "var(--warning)" },
  { tag: [tags.lineComment, tags.blockComment], color: "var(--muted-foreground)", fontStyle: "italic" },
]);

const theme = EditorView.theme({
  "&": { fontSize: "13px", backgroundColor: "var(--background)", color: "var(--foreground)", height: "100%" },
  ".cm-content": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", caretColor: "var(--foreground)" },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", minHeight: "12rem" },
  ".cm-gutters": { backgroundColor: "var(--muted)", color: "var(--muted-foreground)", borderInlineEnd: "1px solid var(--border)" },
  ".cm-activeLine": { backgroundColor: "color-mix(in oklab, var(--accent) 50%, transparent)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--accent)", color: "var(--foreground)" },
  "&.cm-focused": { outline: "2px solid var(--ring)" },
  ".cm-error-line": { backgroundColor: "color-mix(in oklab, var(--destructive) 15%, transparent)" },
  ".cm-tooltip": { backgroundColor: "var(--popover)", color: "var(--popover-foreground)", border: "1px solid var(--border)" },
  ".cm-tooltip-autocomplete ul li[aria-selected]": { backgroundColor: "var(--primary)", color: "var(--primary-foreground)" },
  ".cm-selectionBackground, &.cm-focused .cm-selectionBackground": {
    backgroundColor: "color-mix(in oklab, var(--primary) 25%, transparent) !important",
  },
  ".cm-placeholder": { color: "var(--muted-foreground)" },
});

/** The schema tree as lang-sql's completion schema: namespaces, their tables, the tables' columns. */
export function completionSchema(tree: SchemaTree | undefined): { schema: SQLNamespace; defaultSchema?: string } {
  if (!tree) return { schema: {} };
  const schema: Record<string, Record<string, string[]>> = {};
  for (const ns of tree.namespaces) {
    const tables: Record<string, string[]> = {};
    for (const table of ns.tables) tables[table.name] = table.columns.map((c) => c.name);
    schema[ns.name] = tables;
  }
  return { schema, defaultSchema: tree.default_namespace };
}

function language(tree: SchemaTree | undefined) {
  const { schema, defaultSchema } = completionSchema(tree);
  return sql({ dialect: PostgreSQL, schema, defaultSchema, upperCaseKeywords: true });
}

function errorDecoration(line: number | null) {
  return EditorView.decorations.compute(["doc"], (state) => {
    const builder = new RangeSetBuilder<Decoration>();
    if (line && line <= state.doc.lines) {
      const at = state.doc.line(line);
      builder.add(at.from, at.from, Decoration.line({ class: "cm-error-line" }));
    }
    return builder.finish();
  });
}

export default function SqlEditor({
  initialText,
  onChange,
  onRun,
  onReady,
  tree,
  errorLine,
  label,
  placeholder,
  handleRef,
}: EditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const lang = useRef(new Compartment());
  const errors = useRef(new Compartment());
  const callbacks = useRef({ onChange, onRun });
  callbacks.current = { onChange, onRun };

  useEffect(() => {
    const editor = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: initialText,
        extensions: [
          Prec.highest(
            keymap.of([
              { key: "Mod-Enter", run: () => (callbacks.current.onRun(), true), preventDefault: true },
            ]),
          ),
          lineNumbers(),
          highlightActiveLineGutter(),
          history(),
          drawSelection(),
          indentOnInput(),
          bracketMatching(),
          closeBrackets(),
          autocompletion(),
          highlightActiveLine(),
          syntaxHighlighting(highlight),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, indentWithTab]),
          lang.current.of(language(tree)),
          errors.current.of(errorDecoration(errorLine)),
          placeholderExt(placeholder),
          theme,
          EditorView.contentAttributes.of({ "aria-label": label, "aria-multiline": "true", role: "textbox" }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) callbacks.current.onChange(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    handleRef.current = {
      getText: () => editor.state.doc.toString(),
      getSelection: () => ({ from: editor.state.selection.main.from, to: editor.state.selection.main.to }),
      setText: (text) => editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: text } }),
      insert: (text) => {
        editor.dispatch(editor.state.replaceSelection(text));
        editor.focus();
      },
      goTo: (line, column) => {
        const at = offsetOf(editor.state.doc.toString(), line, column);
        editor.dispatch({ selection: EditorSelection.cursor(at), scrollIntoView: true });
        editor.focus();
      },
      focus: () => editor.focus(),
    };
    onReady?.();
    return () => {
      editor.destroy();
      view.current = null;
      handleRef.current = null;
    };
    // The editor is made once; later props reach it through the compartments below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    view.current?.dispatch({ effects: lang.current.reconfigure(language(tree)) });
  }, [tree]);
  useEffect(() => {
    view.current?.dispatch({ effects: errors.current.reconfigure(errorDecoration(errorLine)) });
  }, [errorLine]);

  return <div ref={host} className="h-full min-h-48 overflow-hidden rounded-md border" data-testid="sql-editor" />;
}

/** What the page asks of the SQL editor (kept apart so the page does not load CodeMirror). */
import type { SchemaTree } from "./api";

export type EditorHandle = {
  getText: () => string;
  /** The selection's character offsets. */
  getSelection: () => { from: number; to: number };
  setText: (text: string) => void;
  insert: (text: string) => void;
  goTo: (line: number, column: number | null) => void;
  focus: () => void;
};

export type EditorProps = {
  initialText: string;
  onChange: (text: string) => void;
  onRun: () => void;
  tree: SchemaTree | undefined;
  errorLine: number | null;
  label: string;
  placeholder: string;
  handleRef: React.RefObject<EditorHandle | null>;
  onReady?: () => void;
};

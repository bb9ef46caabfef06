/** The worksheet's tabs, kept per workspace in the browser (localStorage), so a reload finds each
 * tab's SQL and last statement as it left them. */
import { draftKey } from "./sql-text";

export type SqlTab = { id: number; text: string; statement?: string };
export type SqlTabs = { tabs: SqlTab[]; active: number };

export const MAX_TABS = 12;
export const tabsKey = (workspace: string) => `sadeem.sql.${workspace}.tabs`;

function valid(value: unknown): value is SqlTabs {
  const found = value as SqlTabs | null;
  return (
    !!found &&
    Array.isArray(found.tabs) &&
    found.tabs.length > 0 &&
    found.tabs.every((tab) => Number.isInteger(tab?.id) && typeof tab.text === "string") &&
    found.tabs.some((tab) => tab.id === found.active)
  );
}

/** The workspace's tabs as last kept (one tab with the older single draft, if any, else empty).
 * SQL sent by another page (`?sql=`) opens in a tab of its own, the others left as they were. */
export function loadTabs(workspace: string, sent?: string): SqlTabs {
  let kept: SqlTabs | null = null;
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(tabsKey(workspace)) ?? "null");
    if (valid(parsed)) kept = parsed;
  } catch {
    kept = null; // unreadable: start again
  }
  kept ??= { tabs: [{ id: 1, text: localStorage.getItem(draftKey(workspace)) ?? "" }], active: 1 };
  if (sent === undefined) return kept;
  const active = kept.tabs.find((tab) => tab.id === kept.active)!;
  if (active.text.trim() === "" && !active.statement) return { ...kept, tabs: kept.tabs.map((tab) => (tab === active ? { id: tab.id, text: sent } : tab)) };
  return addTab(kept, sent);
}

export function saveTabs(workspace: string, tabs: SqlTabs) {
  localStorage.setItem(tabsKey(workspace), JSON.stringify(tabs));
}

/** A new tab (active) after the others; past the limit, the oldest tab makes room. */
export function addTab(state: SqlTabs, text = ""): SqlTabs {
  const id = Math.max(...state.tabs.map((tab) => tab.id)) + 1;
  const tabs = [...state.tabs, { id, text }];
  return { tabs: tabs.slice(Math.max(0, tabs.length - MAX_TABS)), active: id };
}

/** Without the tab; closing the active tab makes its neighbour active. The last tab stays. */
export function closeTab(state: SqlTabs, id: number): SqlTabs {
  if (state.tabs.length === 1) return state;
  const index = state.tabs.findIndex((tab) => tab.id === id);
  const tabs = state.tabs.filter((tab) => tab.id !== id);
  const active = state.active === id ? tabs[Math.min(index, tabs.length - 1)]!.id : state.active;
  return { tabs, active };
}

export function updateTab(state: SqlTabs, change: Partial<Omit<SqlTab, "id">>): SqlTabs {
  return { ...state, tabs: state.tabs.map((tab) => (tab.id === state.active ? { ...tab, ...change } : tab)) };
}

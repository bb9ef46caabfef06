/** Every string the console shows, in one catalog (English today; the layout uses logical
 * start/end properties so an Arabic catalog can be added with `dir="rtl"`). */
export const m = {
  product: "Sadeem",
  common: {
    retry: "Try again",
    loading: "Loading",
    cancel: "Cancel",
    save: "Save",
    create: "Create",
    delete: "Delete",
    close: "Close",
    copy: "Copy",
    copied: "Copied",
    loadMore: "Load more",
    never: "never",
    yes: "Yes",
    no: "No",
    notFound: "There is no page at this address.",
    home: "Go to the start page",
  },
  signIn: {
    title: "Sign in to Sadeem",
    username: "Username",
    password: "Password",
    submit: "Sign in",
    submitting: "Signing in…",
    expired: "Your session ended. Sign in again to continue where you were.",
  },
  shell: {
    navigation: "Main navigation",
    workspaces: "Workspaces",
    connections: "Connections",
    members: "Members",
    settings: "Settings",
    users: "Users",
    audit: "Audit log",
    health: "Health",
    apiDocs: "API docs",
    classic: "Worksheet & runs (classic)",
    switchWorkspace: "Switch workspace",
    noWorkspace: "No workspace",
    search: "Search or jump to…",
    searchShortcut: "Ctrl K",
    theme: "Toggle dark mode",
    userMenu: "Account",
    tokens: "Access tokens",
    changePassword: "Change password",
    signOut: "Sign out",
    platformAdmin: "platform admin",
    skipToContent: "Skip to content",
  },
  palette: {
    placeholder: "Type a page or a workspace…",
    empty: "Nothing matches.",
    pages: "Pages",
    workspaces: "Workspaces",
  },

  // ---- workspaces (its area's strings) ----
  workspaces: {
    title: "Workspaces",
  },

  // ---- members (its area's strings) ----
  members: {
    title: "Members",
  },

  // ---- users (its area's strings) ----
  users: {
    title: "Users",
  },

  // ---- account (its area's strings) ----
  account: {
    title: "Account",
  },

  // ---- connections (its area's strings) ----
  connections: {
    title: "Connections",
  },

  // ---- audit (its area's strings) ----
  audit: {
    title: "Audit log",
  },

  // ---- health (its area's strings) ----
  health: {
    title: "Health",
  },
} as const;

import { MoonIcon, SunIcon } from "lucide-react";

import { Button } from "@/components/ui/button";
import { m } from "@/lib/messages";
import { saveTheme, useTheme } from "@/lib/theme";

export function ThemeToggle() {
  const theme = useTheme();
  return (
    <Button
      variant="ghost"
      size="icon"
      aria-label={m.shell.theme}
      aria-pressed={theme === "dark"}
      onClick={() => saveTheme(theme === "dark" ? "light" : "dark")}
    >
      {theme === "dark" ? <SunIcon aria-hidden /> : <MoonIcon aria-hidden />}
    </Button>
  );
}

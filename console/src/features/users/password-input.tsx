import { EyeIcon, EyeOffIcon, WandSparklesIcon } from "lucide-react";
import { useState } from "react";

import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { generatePassword, PASSWORD_MAX } from "@/features/account/passwords";
import { usersMessages } from "@/lib/messages/users";

/** A new password an admin sets for someone: typed or generated, and visible on demand so it can
 * be passed on. */
export function NewPasswordInput({
  id,
  name,
  invalid,
}: {
  id: string;
  name: string;
  invalid?: boolean;
}) {
  const [value, setValue] = useState("");
  const [visible, setVisible] = useState(false);
  return (
    <div className="flex gap-2">
      <div className="relative flex-1">
        <Input
          id={id}
          name={name}
          type={visible ? "text" : "password"}
          autoComplete="new-password"
          maxLength={PASSWORD_MAX}
          value={value}
          onChange={(event) => setValue(event.target.value)}
          className="pe-10 font-mono"
          aria-invalid={invalid ? true : undefined}
          aria-describedby={invalid ? `${id}-error` : undefined}
        />
        <Button
          type="button"
          variant="ghost"
          size="icon"
          className="absolute end-0 top-0"
          aria-label={visible ? usersMessages.hidePassword : usersMessages.showPassword}
          aria-pressed={visible}
          onClick={() => setVisible(!visible)}
        >
          {visible ? <EyeOffIcon aria-hidden /> : <EyeIcon aria-hidden />}
        </Button>
      </div>
      <Button
        type="button"
        variant="outline"
        aria-label={usersMessages.generateLabel}
        onClick={() => {
          setValue(generatePassword());
          setVisible(true);
        }}
      >
        <WandSparklesIcon aria-hidden /> {usersMessages.generate}
      </Button>
    </div>
  );
}

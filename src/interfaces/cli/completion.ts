import { Argument, Command, type Option } from 'commander';
import { FORMATS } from './output.js';

/**
 * Shell completion the way kubectl and gh do it: the shell script only forwards the words typed so
 * far to `docket __complete`, which answers from the command tree itself, so completion never goes
 * out of date with the commands.
 */
export function completionCommand(): Command {
  return new Command('completion')
    .description('print a shell completion script: source <(docket completion bash), or docket completion zsh > "${fpath[1]}/_docket"')
    .addArgument(new Argument('<shell>').choices(Object.keys(SCRIPTS)))
    .action((shell: string) => void process.stdout.write(SCRIPTS[shell]!));
}

/** The candidates for the word after `words` (the words typed before the cursor), one a line. */
export function completeWords(program: Command, words: string[]): string {
  let command = program;
  const before = words.at(-1);
  // The value of -o/--output: the formats.
  if (before === '-o' || before === '--output') return lines([...FORMATS]);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('-')) {
      // Skip the value of an option that takes one.
      const option = optionOf(command, w);
      if (option && (option.required || option.optional) && !w.includes('=')) i++;
      continue;
    }
    const sub = command.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub) command = sub;
  }
  if (before && optionOf(command, before)?.required) return ''; // a value the shell cannot guess
  const subcommands = command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map((c) => c.name());
  const options = command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f));
  return lines([...subcommands, ...options, ...(command === program ? [] : ['--help'])]);
}

function optionOf(command: Command, flag: string): Option | undefined {
  const name = flag.split('=')[0];
  return command.options.find((o) => o.long === name || o.short === name);
}

function lines(words: string[]): string {
  return words.length === 0 ? '' : `${words.join('\n')}\n`;
}

const SCRIPTS: Record<string, string> = {
  bash: `# docket completion for bash: source <(docket completion bash)
_docket() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(docket __complete "\${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)" -- "$cur"))
}
complete -o default -F _docket docket
`,
  zsh: `#compdef docket
# docket completion for zsh: source <(docket completion zsh), or save it as _docket in a directory of $fpath
_docket() {
  local -a candidates
  candidates=("\${(@f)$(docket __complete "\${(@)words[2,CURRENT-1]}" 2>/dev/null)}")
  compadd -a candidates
}
if [ "$funcstack[1]" = "_docket" ]; then _docket "$@"; else compdef _docket docket; fi
`,
};

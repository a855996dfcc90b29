"""Shell completion generated from the parser itself, so it never lags behind the commands."""
from __future__ import annotations

import argparse

SCRIPT = """# bash completion for hosting: eval "$(hosting completion bash)" (zsh: autoload bashcompinit first)
_hosting() {
  local cur words cword
  if declare -F _get_comp_words_by_ref >/dev/null; then
    _get_comp_words_by_ref -n : cur words cword
  else
    cur=${COMP_WORDS[COMP_CWORD]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
  fi
  local choices
  if [ "$cword" -le 1 ]; then
    choices="%(commands)s"
  else
    case "${words[1]}" in
%(cases)s
    esac
  fi
  COMPREPLY=($(compgen -W "$choices" -- "$cur"))
  if declare -F __ltrim_colon_completions >/dev/null; then __ltrim_colon_completions "$cur"; fi
}
complete -F _hosting hosting
"""


HIDDEN = {"git-credential"}  # git calls it, people do not


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps them here; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _words(parser: argparse.ArgumentParser) -> list[str]:
    words = []
    for action in parser._actions:
        words += [o for o in action.option_strings if o.startswith("--")]
        if action.choices and not action.option_strings and not isinstance(action, argparse._SubParsersAction):
            words += [str(c) for c in action.choices]
    return words


def bash(parser: argparse.ArgumentParser) -> str:
    commands = {name: sub for name, sub in _subparsers(parser).items() if name not in HIDDEN}
    cases = "\n".join(f'      {name}) choices="{" ".join(_words(sub))}" ;;' for name, sub in sorted(commands.items()))
    return SCRIPT % {"commands": " ".join(sorted(commands)), "cases": cases}

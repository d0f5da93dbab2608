#!/usr/bin/env zsh
# zcomplete.zsh DIR WORDS...: the candidates zsh's completion system offers
# for the command line "WORDS<TAB>", one per line, using the completion
# function found in DIR (fpath). It drives a real interactive zsh in a
# pseudo-terminal (zsh/zpty), with compadd wrapped to print what the
# completion functions add (after zsh's own matching against the prefix).
zmodload zsh/zpty || exit 3
dir=$1; shift
zpty z zsh -f -i
init=$(mktemp)
cat > $init <<INIT
PROMPT=
fpath=($dir \$fpath)
autoload -Uz compinit; compinit -u -D
bindkey '^I' complete-word
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
mark() { print -r -- "@@MARK@@" }
compprefuncs=(mark)
comppostfuncs=(mark exit)
compadd() {
    if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
        builtin compadd "\$@"; return
    fi
    local -a __hits
    builtin compadd -A __hits "\$@"
    local h; for h in \$__hits; do print -r -- "@@HIT@@\$h"; done
}
print -r -- "@@READY@@"
INIT
zpty -w z "source $init"
local line
repeat 50; do
    zpty -r z line || exit 4
    [[ $line == @@READY@@* ]] && break
done
zpty -w z "$*"$'\t'
integer marks=0
while zpty -r z line; do
    line=${line%$'\r'}; line=${line%$'\n'}; line=${line%$'\r'}
    [[ $line == *@@MARK@@* ]] && { (( ++marks >= 2 )) && break; continue }
    [[ $line == @@HIT@@* ]] && print -r -- ${line#@@HIT@@}
done
rm -f $init

"""The shell examples of a Markdown file, cut into steps (test/suites/91-docs.sh).

The convention (docs/testing.md, "Examples in the docs are tested"):

- Every fenced block opened with ```sh is an example that is run, unless the
  nearest non-blank line above its fence is an HTML comment
  `<!-- not run: why -->` (invisible once rendered).
- Inside a block, a line that begins with `#` (in column 0, outside a
  here-document) is the answer the commands above it print; consecutive such
  lines are one answer. A comment that explains rather than answers goes after
  the command on the same line (`cmd  # why`) or into the prose.
- A step is the commands up to and including one answer; commands after the
  block's last answer are a step without one (it must succeed, without a word
  on stderr, but what it prints is not compared).
"""

import re

FENCE = re.compile(r"^```\s*([A-Za-z0-9_+-]*)\s*$")
SKIP = re.compile(r"^<!--\s*not run:\s*(.+?)\s*-->\s*$")
# A here-document operator (not a here-string, <<<): its delimiter, quoted or not.
HEREDOC = re.compile(r"(?<!<)<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


class Step:
    def __init__(self, path, block_line):
        self.path = path
        self.block_line = block_line   # 1-based line of the block's fence
        self.commands = []             # [(line number, text)]
        self.answer = []               # [(line number, text without the leading '#')]

    @property
    def line(self):
        """The line a report names: the answer's first line, else the first command's."""
        if self.answer:
            return self.answer[0][0]
        return self.commands[0][0] if self.commands else self.block_line

    def title(self):
        """The step's request (its first curl line), else its first line."""
        lines = [t.strip() for _, t in self.commands if t.strip()]
        first = next((t for t in lines if "curl " in t), lines[0] if lines else "")
        return first if len(first) <= 70 else first[:67] + "..."


class Block:
    def __init__(self, path, line, language, skipped):
        self.path, self.line, self.language, self.skipped = path, line, language, skipped
        self.lines = []   # [(line number, text)]


def blocks(path, text):
    """Every ```sh block of the file, with whether it is marked not run."""
    out, current, last_nonblank = [], None, ""
    for no, line in enumerate(text.split("\n"), 1):
        if current is None:
            m = FENCE.match(line)
            if m:
                current = Block(path, no, m.group(1), SKIP.match(last_nonblank) is not None)
                continue
            if line.strip():
                last_nonblank = line.strip()
        else:
            if line.rstrip() == "```":
                if current.language == "sh":
                    out.append(current)
                current, last_nonblank = None, ""
                continue
            current.lines.append((no, line))
    if current is not None:
        raise ValueError(f"{path}:{current.line}: a code block is never closed")
    return out


def steps(block):
    """The block's steps, in order."""
    out, step, pending, in_answer = [], Step(block.path, block.line), [], False
    for no, line in block.lines:
        if pending:                       # inside a here-document
            step.commands.append((no, line))
            term = pending[0]
            if (line.lstrip("\t") if term[0] else line) == term[1]:
                pending.pop(0)
            continue
        if line.startswith("#"):
            if not step.commands:
                raise ValueError(f"{block.path}:{no}: an answer with no command above it")
            step.answer.append((no, line[1:]))
            in_answer = True
            continue
        if in_answer:
            out.append(step)
            step, in_answer = Step(block.path, block.line), False
        step.commands.append((no, line))
        for m in HEREDOC.finditer(line):
            pending.append((m.group(1) == "-", m.group(3)))
    if pending:
        raise ValueError(f"{block.path}:{block.line}: a here-document is never ended")
    if step.commands and any(t.strip() for _, t in step.commands):
        out.append(step)
    return out


def examples(path, text):
    """(steps to run, lines of the blocks not run)."""
    run, skipped = [], []
    for b in blocks(path, text):
        if b.skipped:
            skipped.append(b.line)
        else:
            run.extend(steps(b))
    return run, skipped

"""tools/mutation_stale.py (`python tools/mutation.py --stale`): which functions of the core
changed since the commit the mutation report's verdicts were decided on."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import mutation  # noqa: E402
import mutation_stale as ms  # noqa: E402

MODULE = textwrap.dedent('''\
    import functools

    LIMIT = 3


    def double(x):
        return 2 * x


    class Box:
        def __init__(self, v):
            self.v = v

        @staticmethod
        def make(v):
            def inner():          # nested: part of make's text, no name of its own
                return v
            return Box(inner())

        @property
        def size(self):           # decorated: mutmut does not mutate it
            return 1


    @functools.cache
    def cached(x):
        return x
    ''')


def test_function_sources_names_functions_and_methods_as_mutmut_does():
    named = ms.function_sources(MODULE)
    assert list(named) == ["x_double", "xǁBoxǁ__init__", "xǁBoxǁmake"]
    assert named["x_double"] == "def double(x):\n    return 2 * x\n"
    assert named["xǁBoxǁmake"].startswith("    @staticmethod\n    def make(v):")
    assert "return v" in named["xǁBoxǁmake"]


@pytest.mark.parametrize("edit, changed", [
    (lambda s: s, []),                                                  # the same source
    (lambda s: s.replace("2 * x", "3 * x"), ["x_double"]),              # a body
    (lambda s: s.replace("@staticmethod", "@classmethod"), ["xǁBoxǁmake"]),  # a decorator
    (lambda s: s.replace("return v\n", "return v + 0\n"), ["xǁBoxǁmake"]),   # a nested function
    (lambda s: s.replace("self.v = v", "self.v = v  # kept"), ["xǁBoxǁ__init__"]),  # a comment
    (lambda s: s + "\n\ndef half(x):\n    return x / 2\n", ["x_half"]),  # a new function
    (lambda s: s.replace("LIMIT = 3", "LIMIT = 4"), []),                # module-level code
    (lambda s: s.replace("return 1", "return 2"), []),                  # not mutated: @property
    (lambda s: s.replace("return x\n", "return -x\n"), []),             # nor @functools.cache
    (lambda s: s.replace("@functools.cache\n", ""), ["x_cached"]),   # undecorated: mutated
    (lambda s: s.replace("def double(x):\n    return 2 * x\n", ""), []),  # a removed function
])
def test_changed_functions(edit, changed):
    assert ms.changed_functions(MODULE, edit(MODULE)) == changed


def test_a_function_moved_in_its_file_is_unchanged():
    double = "def double(x):\n    return 2 * x\n"
    moved = MODULE.replace(double, "") + "\n\n" + double
    assert ms.changed_functions(MODULE, moved) == []


def test_summary_commits_reads_the_summary_table_only(tmp_path):
    report = tmp_path / "mutation.md"
    report.write_text(textwrap.dedent("""\
        | a/early.py | 1 | 100.0% | first | `1111111` |

        ### Summary: every core module
        | module | mutants | score | run to the end in | source commit |
        |---|---|---|---|---|
        | a/one.py | 10 | 100.0% | first | `abcdef1` |
        | a/two.py | 0 | (none) | first | `0123456789abcdef0123456789abcdef01234567` |
        | a/three.py | 5 | 90.0% | second | not a commit |

        ### Tenth pass
        | a/four.py | 3 | 100.0% | tenth | `2222222` |
        """))
    assert ms.summary_commits(report) == {
        "a/one.py": "abcdef1", "a/two.py": "0123456789abcdef0123456789abcdef01234567"}
    (tmp_path / "none.md").write_text("# no summary\n")
    with pytest.raises(SystemExit, match="no '### Summary' section"):
        ms.summary_commits(tmp_path / "none.md")


def test_the_report_gives_every_core_module_a_commit():
    assert sorted(ms.summary_commits()) == sorted(mutation.core_modules())


def _git(root, *args) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "t@example.org")
    _git(tmp_path, "config", "user.name", "t")
    (tmp_path / "pkg").mkdir()
    for name in ("mod.py", "same.py"):
        (tmp_path / "pkg" / name).write_text(MODULE)
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path, _git(tmp_path, "rev-parse", "--short", "HEAD")


def test_stale_names_changed_functions_and_their_mutmut_patterns(repo):
    root, commit = repo
    mod = root / "pkg" / "mod.py"
    mod.write_text(MODULE.replace("2 * x", "3 * x").replace("self.v = v", "self.v = -v"))
    listed = ["pkg.mod.x_double__mutmut_3", "pkg.mod.xǁBoxǁmake__mutmut_1",
              "pkg.mod.x_double_it__mutmut_2", "pkg.same.x_double__mutmut_1"]
    lines = ms.stale(["pkg/mod.py", "pkg/same.py", "pkg/new.py"],
                     {"pkg/mod.py": commit, "pkg/same.py": commit}, root, listed)
    assert lines == [
        f"pkg/mod.py (since {commit}): x_double, xǁBoxǁ__init__\n"
        f'  mutmut run "pkg.mod.x_double__mutmut_*" "pkg.mod.xǁBoxǁ__init____mutmut_*"\n'
        f"  listed as equivalent, to read again: pkg.mod.x_double__mutmut_3",
        "pkg/new.py: no commit in the report's summary table (never run?)"]
    assert ms.stale(["pkg/same.py"], {"pkg/same.py": commit}, root) == []


def test_stale_with_a_commit_git_cannot_show_says_so_in_one_line(repo):
    root, commit = repo
    with pytest.raises(SystemExit) as e:
        ms.stale(["pkg/mod.py"], {"pkg/mod.py": "deadbee"}, root)
    assert str(e.value).startswith("pkg/mod.py at deadbee: ")
    assert "\n" not in str(e.value)


def test_the_stale_option_prints_the_lines_and_exits_1_when_any(monkeypatch, capsys):
    monkeypatch.setattr(ms, "summary_commits", lambda: {"harness/task.py": "abc1234"})
    seen = []

    def fake_stale(modules, commits, listed):
        assert listed == sorted(mutation.equivalents())
        seen.append((modules, commits))
        return ["harness/task.py (since abc1234): x_f\n  mutmut run ..."] if len(seen) == 1 else []
    monkeypatch.setattr(ms, "stale", fake_stale)
    assert mutation.main(["--stale", "harness/task.py"]) == 1
    assert seen[0] == (["harness/task.py"], {"harness/task.py": "abc1234"})
    assert "(since abc1234): x_f" in capsys.readouterr().out
    assert mutation.main(["--stale"]) == 0              # every core module by default
    assert seen[1][0] == mutation.core_modules()
    assert "current source" in capsys.readouterr().out

"""The package: a wheel that runs outside the checkout, with its scenarios; test tools only in
the `test` extra."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_TOOLS = {"pytest", "hypothesis", "build", "ruff", "papermill", "playwright", "nbformat"}


def test_no_test_tool_is_a_runtime_dependency_or_imported_by_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {
        d.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
        for d in project["dependencies"]
    }
    assert not runtime & TEST_TOOLS
    assert {"pytest", "hypothesis"} <= {
        d.split(">")[0].strip() for d in project["optional-dependencies"]["test"]
    }
    for path in (ROOT / "sim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            assert not {n.split(".")[0] for n in names} & TEST_TOOLS, path


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """The wheel, and what building it printed (stdout and stderr)."""
    out = tmp_path_factory.mktemp("dist")
    # as on a user's machine: with PYTHONDONTWRITEBYTECODE set, distutils notes "warning:
    # byte-compiling is disabled" (the build has no other output to compare with)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    (found,) = out.glob("smb_sim-*.whl")
    return found, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(built) -> Path:
    return built[0]


def test_the_build_prints_no_warning(built):
    """setuptools warned ~160 lines ("Package would be ignored") for the scenario folders that
    were package data but not packages (issue 20)."""
    _, output = built
    noisy = [line for line in output.splitlines() if "warning" in line.lower()]
    assert not noisy, "\n".join(noisy[:20])


def test_the_wheel_is_the_version_the_package_says(wheel):
    import sim

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == sim.__version__
    assert wheel.name.startswith(f"smb_sim-{sim.__version__}-")


def test_the_citation_is_complete_and_of_this_version():
    """CITATION.cff: the fields GitHub's "Cite this repository" and Zenodo read, the version of
    the package, a release date and an author that is not a placeholder."""
    import sim

    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    fields = {
        line.split(":", 1)[0]: line.split(":", 1)[1].strip().strip('"')
        for line in text.splitlines()
        if line and not line.startswith((" ", "#", "-")) and ":" in line
    }
    for field in ("cff-version", "message", "title", "authors", "version", "date-released"):
        assert field in fields, field
    assert fields["version"] == sim.__version__
    assert len(fields["date-released"]) == 10 and fields["date-released"][4] == "-"
    authors = text.split("\nauthors:\n", 1)[1].split("\n", 1)[0]
    assert "name:" in authors and "contributors" not in authors.lower()


@pytest.mark.parametrize("name", ["summary_table", "mean_ci", "share_ci"])
def test_names_moved_to_sim_stats_still_import_from_sim_experiment_with_a_warning(name):
    """Moved in 0.2.0: the old import works for one release and says where the name went."""
    import sim.experiment
    import sim.stats

    with pytest.warns(DeprecationWarning, match=f"sim.stats.{name}"):
        alias = getattr(sim.experiment, name)
    assert alias is getattr(sim.stats, name)
    with pytest.warns(DeprecationWarning):
        exec(f"from sim.experiment import {name}", {})


def test_an_unknown_name_of_sim_experiment_is_still_an_attribute_error():
    import sim.experiment

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sim.experiment.nope  # noqa: B018


def test_the_wheel_ships_every_scenario_as_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        f"sim/scenarios/{p.relative_to(ROOT / 'scenarios').as_posix()}"
        for p in (ROOT / "scenarios").rglob("*.toml")
    }
    assert shipped and shipped <= names


def _installed(wheel: Path, where: Path) -> Path:
    """A fresh venv with the wheel installed; its dependencies come from this environment
    (a path in a .pth file: this test needs no network), never the checkout's own `sim`."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _sim(python: Path, folder: Path, *args: str, timeout: int = 600):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run(
        [str(python), "-m", "sim", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="venv layout")
def test_the_installed_wheel_runs_a_scenario_from_an_empty_folder(wheel, tmp_path):
    python = _installed(wheel, tmp_path / "venv")
    empty = tmp_path / "empty"
    empty.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import sim, sim.scenario as s; print(sim.__file__, s.SCENARIO_DIR)"],
        cwd=empty,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(ROOT) not in where and str(tmp_path / "venv") in where
    done = _sim(python, empty, "run", "bakery_gluten_free", "--seeds", "2", "--quiet")
    assert done.returncode == 0, done.stderr
    (folder,) = (empty / "results" / "bakery_gluten_free").iterdir()
    assert {"runs.parquet", "manifest.json", "kpi.png"} <= {p.name for p in folder.iterdir()}


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="venv layout")
def test_the_installed_wheel_runs_the_four_commands_from_an_empty_folder(wheel, tmp_path):
    # a real install: the wheel and its dependencies from the package index, as a user gets it
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    for args in (
        ["run", "bakery_gluten_free", "--quiet"],
        ["sweep", "alignment_pays", "--quiet"],
        ["validate", "--quick"],
    ):
        done = _sim(python, empty, *args)
        assert done.returncode == 0, (args, done.stderr)
    assert {p.name for p in (empty / "results").iterdir()} == {
        "bakery_gluten_free",
        "sweeps",
        "validation",
    }
    app = subprocess.Popen(
        [str(python), "-m", "sim", "app", "--port", "0"],
        cwd=empty,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = app.stdout.readline()
        url = line[line.index("http") :].split()[0]
        import urllib.request

        with urllib.request.urlopen(url, timeout=60) as page:
            assert page.status == 200 and b"smb-sim classroom" in page.read()
    finally:
        app.terminate()
        app.wait(timeout=30)

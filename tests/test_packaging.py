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
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = out.glob("smb_sim-*.whl")
    return found


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

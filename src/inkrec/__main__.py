"""`python -m inkrec`: the same command line as `inkrec`."""

from inkrec.cli import app

if __name__ == "__main__":
    app(prog_name="inkrec")

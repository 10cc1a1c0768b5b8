"""``python -m tools``: regenerate every generated file (the component package, then the
reference pages)."""

from tools import component_package, docs

if __name__ == "__main__":
    component_package.main()
    docs.main()

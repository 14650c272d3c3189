# The two commands of the README.
#   make demo   build the module and run the talk's final demo
#   make test   the whole test suite on every interpreter (tools/test-all)
PYTHON ?= python3

.PHONY: demo test

demo:
	$(PYTHON) -c "import setuptools_rust" 2>/dev/null || $(PYTHON) -m pip install -q setuptools setuptools-rust
	$(PYTHON) -m pip install -q -r requirements-extras.txt || echo "(optional extras for examples/explore.py not installed)"
	$(PYTHON) setup.py -q build
	$(PYTHON) examples/its_usable.py

test:
	tools/test-all

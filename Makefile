# The two commands of the README.
#   make demo   build the module and run the talk's final demo
#   make test   the whole test suite on every interpreter (tools/test-all)
PYTHON ?= python3

.PHONY: demo test

# A system Python whose pip refuses to install (PEP 668: Debian's and Ubuntu's
# python3.X) or that has no pip gets the usual advice: a venv.
demo:
	@$(PYTHON) -c "import setuptools_rust" 2>/dev/null || $(PYTHON) -m pip install -q setuptools setuptools-rust || { \
	    echo "$(PYTHON) cannot install setuptools-rust (no pip, or a system Python whose pip refuses: PEP 668)."; \
	    echo "Make a venv and run the demo from it:"; \
	    echo "    $(PYTHON) -m venv .venv && . .venv/bin/activate && make demo"; \
	    exit 1; }
	$(PYTHON) -m pip install -q -r requirements-extras.txt || echo "(optional extras for examples/explore.py not installed)"
	$(PYTHON) setup.py -q build
	$(PYTHON) examples/its_usable.py

test:
	tools/test-all

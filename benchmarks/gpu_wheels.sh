# Sourced by the GPU scripts (run from the repository root): packages the GPU machine lacks
# (pydantic, ...), carried as wheels in .whl/, installed into /tmp/site and put on PYTHONPATH.
if compgen -G ".whl/*.whl" >/dev/null && ! python3 -c "import pydantic" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi

"""`lifeceo bench`: wrk against a real `lifeceo serve`, every figure a ratio to `hello` in the same run."""

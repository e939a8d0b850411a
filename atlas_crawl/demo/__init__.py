"""The offline demo and the local web server it (and the tests and benchmarks) use."""

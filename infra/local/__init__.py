"""The local runtime: the real handlers on one machine, with moto's server as AWS."""

"""The test lab: real network namespaces, real sockets, real sshd hosts."""

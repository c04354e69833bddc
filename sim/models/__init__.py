"""Reference models: the untimed oracles of the ITS and the redistributors, memory, register file, command codec."""

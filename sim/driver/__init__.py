"""Host software: the bus interface the drivers talk through, the Linux-style ITS and redistributor drivers, the board's UART bridge client."""

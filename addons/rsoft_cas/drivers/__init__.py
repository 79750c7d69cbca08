"CAS drivers: one interface, one module per protocol"

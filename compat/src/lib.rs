//! Nothing here: the programs are the tests in `tests/`, each written against mio 0.5.1's API
//! as its users wrote it, compiled against ferrio renamed to `mio`.

/* Demangling of C++ (Itanium ABI) and Rust (legacy and v0) symbol names. */
#pragma once

/* Returns a malloc'd readable name, or NULL when name is not a mangled C++ or Rust
 * name.  Rust names lose their hash (legacy ::h0123456789abcdef, v0 crate
 * disambiguators), as rustfilt prints them. */
char *demangle(const char *name);

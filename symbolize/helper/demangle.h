/* C++ (Itanium ABI) demangling through libstdc++'s __cxa_demangle. */
#pragma once

/* Returns a malloc'd readable name, or NULL when name is not a mangled C++ name. */
char *demangle(const char *name);

/* The memprof command's subcommands, one file each. */
#pragma once

int cmd_attach(int argc, char **argv);

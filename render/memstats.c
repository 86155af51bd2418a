/* stub: memstats renderer */

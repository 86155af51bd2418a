/* stub: threads renderer */

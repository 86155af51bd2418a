/* stub: heap renderer */

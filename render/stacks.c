/* stub: stacks renderer */

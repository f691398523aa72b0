"""Review tasks (issue 15, item 3): what a review looks at, its findings, posting them to GitHub."""

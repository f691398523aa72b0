"""Best-of-N re-verification: each finished attempt's patch applied to a pristine checkout and
the repository's checks run in a fresh sandbox; the attempts ranked by that verdict; hunks of
several attempts combined into one patch, verified the same way before Create PR."""

"""Downloads of the public data sets: the resumable, verified download engine (`engine`) and one
catalogue per source (`quickdraw`, `mnist`), which knows where its files live and how they are laid out."""

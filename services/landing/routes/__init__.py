"""landing's pages and form posts, one module per part of the site."""

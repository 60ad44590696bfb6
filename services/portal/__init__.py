"""The web portal: pages for people who do not write JSON, calling the gateway's API as them."""

package main

import (
	_ "github.com/earshot-dev/earshot/connectors/all"
	_ "github.com/earshot-dev/earshot/enrich/all"
)

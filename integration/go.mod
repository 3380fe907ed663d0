module github.com/cus-suite/cus/integration

go 1.26.0

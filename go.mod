module github.com/amqplink/amqplink

go 1.25

require github.com/Azure/go-amqp v1.7.0

require github.com/stretchr/testify v1.12.1 // indirect
